"""Developer tools: the stack launcher (`python -m tools.stack`) and demo data (`tools.demo`)."""
