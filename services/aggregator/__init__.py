"""The aggregator: valid shares -> partition totals -> (agreed batch close) the batch's total share."""
