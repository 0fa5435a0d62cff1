"""What the demo's made-up product asks the model: short, realistic texts for each feature."""

USERS = ("alice", "bob", "carol", "dmitri", "erin", "farah", "gus")

SUMMARIZE_TEXTS = (
    "Release notes 4.2: the sync engine now batches writes, cutting median save time from 180 ms to 40 ms. "
    "Offline edits are merged on reconnect; conflicts open a side-by-side view. Windows 7 is no longer supported.",
    "Incident report: between 09:12 and 09:47 UTC, 3% of checkout requests failed with HTTP 502 after a config "
    "push lowered the load balancer's idle timeout. The change was rolled back; a canary step now gates such pushes.",
    "Meeting notes: the team agreed to ship the onboarding checklist behind a flag next sprint, measure activation "
    "for two weeks, and drop the video tour unless it moves day-7 retention by at least two points.",
    "Customer feedback digest: users love the new dark theme and the faster search, but several mention that "
    "exported CSV files lose the time zone, and two enterprise accounts ask for SAML group sync.",
    "Research summary: caching prompt prefixes cut median latency by 38% for long system prompts, with no change "
    "in output quality on our eval set; gains vanish for prompts under 1,024 tokens.",
    "Quarterly update: revenue grew 12% quarter over quarter, driven by the team plan; churn fell to 2.1%. "
    "Hiring is paused except for two support roles; the EU data region launches in March.",
)

CHAT_QUESTIONS = (
    "How do I rotate an API key without downtime?",
    "What's the difference between the staging and production webhooks?",
    "Can I paginate the /v2/events endpoint by timestamp instead of cursor?",
    "Why does my upload fail with 413 for files over 20 MB?",
    "Is there a Python SDK method to retry idempotent requests automatically?",
    "How are rate limits counted for batch requests?",
    "Write a curl example that creates a project with two members.",
    "What does the 'stale_revision' error mean and how do I resolve it?",
    "Explain the difference between soft and hard deletes in your API.",
    "How can I test webhooks locally?",
)

TICKETS = (
    ("I was charged twice for the March invoice, please refund one of them.", "billing"),
    ("The export button does nothing in Firefox 128 — console shows a TypeError.", "bug"),
    ("Could you add a way to schedule reports weekly instead of daily?", "feature_request"),
    ("I can't log in after changing my email address; the reset link expires immediately.", "account"),
    ("Dashboard charts render blank when the date range crosses midnight UTC.", "bug"),
    ("Please switch our plan from monthly to annual billing.", "billing"),
    ("Would love dark mode for the mobile app.", "feature_request"),
    ("How do I transfer ownership of the workspace to my colleague?", "account"),
)

SEARCH_QUERIES = (
    "how to rotate api keys", "webhook signature verification", "rate limit headers", "bulk import csv",
    "delete a project permanently", "sso saml setup", "pagination cursor example",
)

# The support agent's tool exchange: a question about an order, the order tool, and what it "returned".
ORDER_QUESTIONS = (
    "Where is my order? It was due yesterday.",
    "Has my last order shipped yet?",
    "Can you check the status of my order for me?",
    "My order shows 'processing' for three days — what's going on?",
)
ORDER_TOOL = {"type": "function", "function": {
    "name": "get_order_status", "description": "Look up the shipping status of the customer's order.",
    "parameters": {"type": "object", "properties": {"order_number": {"type": "integer"}},
                   "required": ["order_number"], "additionalProperties": False}}}
ORDER_STATUSES = ('{"status": "shipped", "carrier": "UPS", "eta_days": 2}',
                  '{"status": "processing", "warehouse": "Lyon", "eta_days": 5}',
                  '{"status": "delivered", "signed_by": "front desk"}')

# Structured extraction: a ticket in, a JSON triage record out.
TRIAGE_SCHEMA = {"name": "ticket_triage", "strict": True, "schema": {
    "type": "object", "additionalProperties": False, "required": ["category", "urgency", "summary"],
    "properties": {"category": {"type": "string", "enum": ["billing", "bug", "feature_request", "account"]},
                   "urgency": {"type": "string", "enum": ["low", "normal", "high"]},
                   "summary": {"type": "string"}}}}

# Follow-ups of a Responses chat thread (sent with previous_response_id).
FOLLOW_UPS = ("Can you show that in Python?", "Thanks — and what if it fails halfway?", "Shorter, please.")
