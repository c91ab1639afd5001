"""Where interviews come from besides the import file: webhooks, calendar feeds, ATS APIs.

Every source turns what it receives into import rows (:class:`storage.intake.SourceRow`)
and hands them to :func:`storage.intake.intake_rows`, the same validation and the
same idempotent upsert as ``interview-bot schedule import``, keyed by ``external_id``.
Nothing here talks to Slack: what a person must be told (an incomplete interview, a
cancelled form) is work the job engine does from the database.
"""
