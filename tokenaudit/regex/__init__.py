"""Regular-expression tools: the parser tokenaudit reads, the backtracking lint, literal prefilters."""
