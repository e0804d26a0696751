from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.staticfiles.views import serve
from django.urls import path, re_path
from django.views.generic import RedirectView

from sample_app import api, views

urlpatterns = [
    path("", RedirectView.as_view(pattern_name="timeline"), name="home"),
    path("timeline/", views.timeline, name="timeline"),
    path("timeline/async/", views.timeline_async, name="timeline_async"),
    path("timeline/aggregated/", views.timeline_aggregated, name="timeline_aggregated"),
    path("notifications/", views.notifications, name="notifications"),
    path("u/<str:username>/", views.profile, name="profile"),
    path("u/<str:username>/follow/", views.follow, name="follow"),
    path("u/<str:username>/unfollow/", views.unfollow, name="unfollow"),
    path("tweet/<int:pk>/like/", views.like, name="like"),
    path("tweet/<int:pk>/unlike/", views.unlike, name="unlike"),
    path("tweet/<int:pk>/retweet/", views.retweet, name="retweet"),
    path("tweet/<int:pk>/delete/", views.delete_tweet, name="delete_tweet"),
    path("api/timeline/", api.TimelineAPI.as_view(), name="api_timeline"),
    path("api/u/<str:username>/", api.ProfileFeedAPI.as_view(), name="api_profile"),
    path("demo/stream/", views.demo_stream, name="demo_stream"),
    path("signup/", views.signup, name="signup"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("admin/", admin.site.urls),
    # The demo has one stylesheet and no collectstatic step: serve it from the app, also
    # with DEBUG off. A real deployment serves static files with its web server or WhiteNoise.
    re_path(r"^static/(?P<path>.*)$", serve, {"insecure": True}),
]
