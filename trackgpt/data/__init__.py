"""Training data for TrackGPT: readers of dataset layouts, the three-frame clip
sampler, and the conversation templates."""
