"""Built-in predictor implementations (imported only when used)."""
