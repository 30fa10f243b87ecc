"""Training: augmentation (ADA), losses, schedules and the training loop."""
