"""The verifier: partition -> verify1 -> peer -> verify2 -> peer -> which reports are valid."""
