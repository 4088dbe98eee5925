"""Settlement: the energy adjustments and invoice lines that accepted theft claims post."""
