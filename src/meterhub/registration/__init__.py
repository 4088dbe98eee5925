"""Registration history: who was registered to each meter point (MPxN), day by day."""
