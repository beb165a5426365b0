"""The site's own login and logout pages, for every user (the admin's admits staff only).

A user who is not staff signs in here and sees their own runs and sweeps; failed
logins count towards the address's limit (backtest_project.throttling).
"""

from __future__ import annotations

from django.contrib.auth import views as auth_views

from backtest_project.throttling import login_limited


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True

    def get_context_data(self, **kwargs):
        from reports.render import report_css  # the pages' one stylesheet

        return {**super().get_context_data(**kwargs), "css": report_css(), "pdf": False}


login = login_limited(LoginView.as_view())
logout = auth_views.LogoutView.as_view()
