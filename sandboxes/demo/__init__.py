"""``outbox demo``: the whole system on one machine, from checkout to Salesforce and Thinkific."""
