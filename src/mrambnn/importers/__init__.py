"""Networks trained elsewhere, brought in through `mrambnn.engine.builder`: FINN /
BNN-PYNQ parameter files (`mrambnn.importers.finn`) and ONNX / QONNX graphs
(`mrambnn.importers.onnx_graph`). PyTorch modules come in through `mrambnn.nn.importer`
(``nn`` is the only package that imports torch)."""
