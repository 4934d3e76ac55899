"""Built-in search strategies: each asks an oracle for evaluations until its budget is spent."""
