from django.contrib import admin

from sample_app.models import Follow, Like, Retweet, Tweet


@admin.register(Tweet)
class TweetAdmin(admin.ModelAdmin):
    list_display = ("user", "text", "created_at")


@admin.register(Like, Retweet)
class ReactionAdmin(admin.ModelAdmin):
    list_display = ("user", "tweet", "created_at")


@admin.register(Follow)
class FollowAdmin(admin.ModelAdmin):
    list_display = ("user", "target", "created_at")
