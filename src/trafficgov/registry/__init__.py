"""登记 — master data: people, driving licences, vehicles, companies, employments and code tables."""
