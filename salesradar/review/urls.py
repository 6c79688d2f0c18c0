from django.urls import path

from salesradar.review import views

app_name = "review"
urlpatterns = [
    path("cards/", views.card_board, name="cards"),
    path("cards/<int:pk>/deliver/", views.card_deliver, name="card_deliver"),
    path("cards/<int:pk>/verify/", views.card_verify, name="card_verify"),
    path("director/", views.director_views, name="director"),
]
