"""Request rates and failed authentications, counted in the cache (Redis when set).

- ``AnonThrottle`` / ``UserThrottle``: DRF's rate throttles with their rates read from
  the settings at each request (API_THROTTLE_ANON, API_THROTTLE_USER), so a test can
  change them with ``override_settings``.
- Failed authentications (a wrong password at a login page, a bad API token) are
  counted per client address; after ``AUTH_FAILURE_LIMIT`` of them within
  ``AUTH_FAILURE_WINDOW`` seconds that address is answered 429 at the login pages and
  for token requests until the window ends, whatever it sends: password guessing is
  bounded to the limit per window and address.

The client address is DRF's: REMOTE_ADDR, or with ``NUM_PROXIES`` set the address
that many proxies back in X-Forwarded-For (never a header the client alone controls).
"""

from __future__ import annotations

from functools import wraps

from django.conf import settings
from django.core.cache import cache
from django.http import HttpResponse
from django.shortcuts import render
from rest_framework.authentication import TokenAuthentication
from rest_framework.exceptions import AuthenticationFailed, Throttled
from rest_framework.throttling import AnonRateThrottle, BaseThrottle, UserRateThrottle

_KEY = "auth-failures:{}"


class AnonThrottle(AnonRateThrottle):
    def get_rate(self):
        return settings.API_THROTTLE_ANON


class UserThrottle(UserRateThrottle):
    def get_rate(self):
        return settings.API_THROTTLE_USER


def client_address(request) -> str:
    return BaseThrottle().get_ident(request) or "unknown"


def auth_failures_exceeded(request) -> bool:
    """Has this request's address used up its failed authentications for the window?"""
    return (cache.get(_KEY.format(client_address(request))) or 0) >= settings.AUTH_FAILURE_LIMIT


def auth_failure_record(request) -> None:
    """Count one failed authentication; the window starts with the first failure."""
    key = _KEY.format(client_address(request))
    cache.add(key, 0, timeout=settings.AUTH_FAILURE_WINDOW)
    try:
        cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=settings.AUTH_FAILURE_WINDOW)


def _too_many_message() -> str:
    return (
        f"too many failed authentications from this address (at most {settings.AUTH_FAILURE_LIMIT} "
        f"in {settings.AUTH_FAILURE_WINDOW} s); try again later"
    )


class LimitedTokenAuthentication(TokenAuthentication):
    """DRF's token authentication, refusing (429) addresses with too many bad tokens."""

    def authenticate(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        sends_token = header.split(" ", 1)[0].lower() == self.keyword.lower()
        if sends_token and auth_failures_exceeded(request):
            raise Throttled(wait=settings.AUTH_FAILURE_WINDOW, detail=_too_many_message())
        try:
            return super().authenticate(request)
        except AuthenticationFailed:
            auth_failure_record(request)
            raise


def login_limited(view):
    """Wrap a login view: a POST from an address over the limit gets 429 without its
    credentials being checked; a POST that does not log in counts as a failure."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if request.method != "POST":
            return view(request, *args, **kwargs)
        if auth_failures_exceeded(request):
            response: HttpResponse = render(
                request, "registration/too_many.html", {"message": _too_many_message()}, status=429
            )
            response["Retry-After"] = str(settings.AUTH_FAILURE_WINDOW)
            return response
        response = view(request, *args, **kwargs)
        # A failed login re-renders its form (200); a successful one redirects.
        if response.status_code == 200 and not request.user.is_authenticated:
            auth_failure_record(request)
        return response

    return wrapper
