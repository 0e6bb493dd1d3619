"""What tests, the bench and the demo share: fakes of the ports and stores, and one of each
helper (waiting, HTTP client, funder bootstrap)."""
