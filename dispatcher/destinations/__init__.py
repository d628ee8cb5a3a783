"""Destinations: where a batch of messages goes. ``registry`` builds one per configured ``type``
from a ``context.DestinationContext``; ``http`` holds the classification of HTTP answers every
HTTP destination shares; ``null`` and ``webhook`` are built in, ``salesforce`` and
``thinkific`` are the native ones, each a package with its options, client and error mapping."""
