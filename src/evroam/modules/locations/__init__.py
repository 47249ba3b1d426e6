"""The locations module: CPO (sender) and eMSP (receiver) sides."""
