"""Events into runs: ``ingest.EventIngest`` checks an event and finds the runs it is
for; ``delivery`` hands it to each run, as an answered update or a durable signal."""
