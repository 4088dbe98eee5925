"""The Contact Management Service: the gas industry's case system (contacts between parties,
work queues, Supplier Theft of Gas, bulk files with response files)."""
