"""Adapters that send: webhooks over HTTPS (httpx) and e-mail over SMTP (smtplib). Each
answers an `Attempt` and never raises for what a receiver does: the dispatcher decides."""
