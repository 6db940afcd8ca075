"""The AI spend governor: prices, budgets, the reservation ledger and the AI's measured return."""
