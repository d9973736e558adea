"""Use cases: the flows of zbulk's commands (an import: plan, split, record, create,
follow), with their collaborators (client, clock, output events) passed in. Nothing here
prints; the commands talk to the user."""
