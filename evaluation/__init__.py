"""What learners, schools and regulators say of each other, and what the index counts."""
