"""zbulk: inspect, follow and diagnose Zoho CRM bulk write jobs."""

__version__ = "0.1.0"
