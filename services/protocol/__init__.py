"""What the four services share about the protocol: object layout, share files, outcomes, status."""
