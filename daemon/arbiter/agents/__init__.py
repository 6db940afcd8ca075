"""The escalation ladder's agents: local models on Ollama, cheap and premium cloud models."""
