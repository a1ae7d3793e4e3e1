"""Readers for the raw sources InsTrack is curated from (DAVIS-2017, VIPSeg)."""
