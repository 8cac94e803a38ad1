"""Clinical case store and blinded rating studies (storage, setup, rating, unblinding, statistics).

No Qt here: the desktop app builds its screens on the services of this package.
"""
