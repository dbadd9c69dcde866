"""Local HTTP stand-ins of the providers' REST APIs (Postmark, Twilio, Vonage)."""
