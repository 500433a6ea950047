"""Webhooks out: other systems (a 12345 hotline platform, a city operations centre) subscribe a URL to ticket events.

Admins keep the subscriptions (`service`, `routes`). A ticket change owes, in its own transaction, one outbox row
(medium `webhook`) per active subscription to its event (`service.owe_webhooks`). The delivery loop sends each row
with `delivery.deliver_webhook`, signed (`kernel.signing`), to an address the SSRF guard (`ssrf`) vetted.
"""
