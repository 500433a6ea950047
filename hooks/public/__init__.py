"""What residents read without an account: their ticket's status by its number and their phone's last digits."""
