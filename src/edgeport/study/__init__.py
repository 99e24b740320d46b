"""The main job: variants × targets → verified, measured candidates → Pareto frontier → recommendation."""
