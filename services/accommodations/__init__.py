"""The accommodations service: confidential accommodation tickets and the scheduling
constraints that approved tickets become."""
