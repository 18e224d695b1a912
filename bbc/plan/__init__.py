"""From a hierarchy and what the engine and registry hold to one Plan of typed steps: fingerprints, external bases, prepare inputs, the test sandwich. Reads; never builds."""
