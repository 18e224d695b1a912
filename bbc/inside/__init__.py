"""What is inside a built image: its layers, packages and who owns them, the SBOM, secrets, policy gates, scan reports, lineage."""
