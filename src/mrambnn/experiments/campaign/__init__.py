"""Campaigns: many models x fault models x grids declared in one TOML file, cut into small
exact tasks, run on local processes or a Dask cluster, resumable, merged into the result
files of the sweeps."""

from mrambnn.experiments.campaign.backends import DaskBackend, LocalBackend
from mrambnn.experiments.campaign.runner import CampaignStatus, campaign_status, run_campaign
from mrambnn.experiments.campaign.spec import Campaign, load_campaign
from mrambnn.experiments.campaign.tasks import Task, campaign_tasks, run_task

__all__ = [
    "Campaign",
    "CampaignStatus",
    "DaskBackend",
    "LocalBackend",
    "Task",
    "campaign_status",
    "campaign_tasks",
    "load_campaign",
    "run_campaign",
    "run_task",
]
