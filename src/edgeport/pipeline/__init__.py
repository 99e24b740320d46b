"""Pipelines: several models per frame planned against a frame budget (``run_pipeline``), then measured."""

from edgeport.pipeline.pipeline import PipelineResult, run_pipeline
from edgeport.pipeline.spec import PipelineSpec, Rate, StageInput, StageSpec, load_pipeline

__all__ = ["PipelineResult", "PipelineSpec", "Rate", "StageInput", "StageSpec", "load_pipeline", "run_pipeline"]
