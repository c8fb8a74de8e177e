"""donorcrm."""
