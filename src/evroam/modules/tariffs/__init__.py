"""The tariffs module: CPO (sender) and eMSP (receiver) sides."""
