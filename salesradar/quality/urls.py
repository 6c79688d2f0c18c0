from django.urls import path

from salesradar.quality import views

app_name = "quality"
urlpatterns = [
    path("backtests/", views.backtest_list, name="backtest_list"),
    path("backtests/<int:pk>/", views.backtest_detail, name="backtest_detail"),
]
