"""`LayerChain`: the operations of a binarized network, met one by one in a foreign graph
(a torch.fx trace, an ONNX graph), turned into builder specs (`mrambnn.engine.builder`).

The importers recognise each framework's operators; the chain knows what a BNN is: the
value flowing down is the image ('input'), a layer's integer sum ('pre'), its BatchNorm
('normed'), a Hardtanh of it ('soft': binarized by whatever comes next) or bits ('bits').
A layer must take the image or bits; pooling comes once per layer, before the sign (on the
pre-activations) or after it (on the bits); a flatten precedes the first dense layer after
a convolution. What breaks these rules is refused through the importer's ``refuse(where,
what)``, which names the operation in the framework's words.
"""

from collections.abc import Callable
from typing import Any

import numpy as np

from mrambnn.engine.builder import BatchNormSpec, ConvSpec, DenseSpec, LayerSpec

__all__ = ["LayerChain"]

Refuse = Callable[[Any, str], Exception]


class LayerChain:
    """The layers found so far and the state of the chain (module docstring).

    Args:
        refuse: makes the exception for operation ``where`` and the reason ``what``.
        sign_name: how the framework writes the binarization, for the messages.
    """

    def __init__(self, refuse: Refuse, sign_name: str) -> None:
        self.refuse, self.sign_name = refuse, sign_name
        self.specs: list[dict[str, Any]] = []
        self.state = "input"
        self.flattened = False  # a flatten since the last layer ((C, H, W) order)
        self.binary_input = False  # the sign of the image itself is taken
        self.softmax = False

    def begin(self, where: Any, kind: str, signs: np.ndarray, bias: np.ndarray | None,
              padding: int | None, *, binarizes_input: bool = False) -> None:
        """A binary layer ('dense' or 'conv') with +-1 ``signs``; ``binarizes_input``:
        the layer takes the sign of its input itself (BinaryNet.pytorch's layers)."""
        if self.softmax:
            raise self.refuse(where, "a layer after (Log)Softmax")
        if self.state in ("pre", "normed", "soft") and not binarizes_input:
            raise self.refuse(where, f"its input is not binarized (add {self.sign_name})")
        if self.state == "pre":  # the previous layer's raw sum, binarized here
            self.specs[-1]["sign_of_raw"] = True
        if kind == "dense" and self.specs and self.specs[-1]["kind"] == "conv" \
                and not self.flattened:
            raise self.refuse(where, "a dense layer on an unflattened feature map")
        self.state = "pre"
        self.specs.append({"where": where, "kind": kind, "signs": signs, "padding": padding,
                           "bias": bias, "bn": None, "pool": None})
        self.flattened = False

    def add_bias(self, where: Any, bias: np.ndarray) -> None:
        """A bias added to the sum of the layer just begun."""
        if self.state != "pre" or self.specs[-1]["bias"] is not None:
            raise self.refuse(where, "a bias not right after a layer")
        self.specs[-1]["bias"] = np.asarray(bias).reshape(-1)

    def pool(self, where: Any) -> None:
        """2x2 max-pooling: of the pre-activations, or after the BatchNorm, of the bits."""
        if self.state == "input" or self.specs[-1]["pool"] is not None:
            raise self.refuse(where, "max-pooling here (once per layer, after a "
                              "convolution)")
        self.specs[-1]["pool"] = "preactivation" if self.state == "pre" else "bits"

    def batchnorm(self, where: Any, spec: BatchNormSpec) -> None:
        if self.state != "pre":
            raise self.refuse(where, "a BatchNorm not right after a binary layer (or "
                              "pooling)")
        self.specs[-1]["bn"] = spec
        self.state = "normed"

    def activation(self, where: Any, *, hard: bool) -> None:
        """A sign (``hard`` False) or a Hardtanh / Clip(-1, 1) (``hard``)."""
        if self.state == "input" and not hard and not self.specs:
            self.binary_input = True
            return
        if self.state not in ("pre", "normed", "soft"):
            raise self.refuse(where, "an activation that is not after a layer")
        if self.state == "pre":
            self.specs[-1]["sign_of_raw"] = True
        self.state = "soft" if hard else "bits"

    def flatten(self) -> None:
        self.flattened = self.flattened or bool(self.specs)

    def layer_specs(self) -> list[LayerSpec]:
        """The builder's specs of the whole chain (at least one layer was found)."""
        last = self.specs[-1]
        if self.state in ("soft", "bits") or last.get("sign_of_raw"):
            raise self.refuse(last["where"], "an activation after the output layer (the "
                              "scores must be its sum or BatchNorm)")
        specs: list[LayerSpec] = []
        for spec in self.specs:
            if spec["bn"] is None and spec is not last:
                bias = spec["bias"]
                if bias is None or np.any(bias == np.round(bias)):
                    raise self.refuse(spec["where"], "sign of an integer sum without "
                                      "BatchNorm (the sign of a sum of 0 is 0, a third "
                                      "value)")
            if spec["kind"] == "conv":
                specs.append(ConvSpec(weights=spec["signs"], padding=spec["padding"],
                                      head=spec["bn"], bias=spec["bias"], pool=spec["pool"]))
            else:
                if spec["pool"] is not None:
                    raise self.refuse(spec["where"], "max-pooling after a dense layer")
                specs.append(DenseSpec(weights=spec["signs"], head=spec["bn"],
                                       bias=spec["bias"], input_order="chw"))
        return specs
