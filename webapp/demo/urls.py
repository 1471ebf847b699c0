from django.urls import path

from webapp.demo import apis, views

app_name = "demo"

urlpatterns = [
    path("", views.home, name="home"),
    path("try/", views.continue_demo, name="continue"),
    path("try/<str:token>/", views.studio, name="studio"),
    path("try/<str:token>/before.jpg", views.before_image, name="before"),
    path("try/<str:token>/styles/<str:style>.jpg", views.style_thumbnail, name="style-thumbnail"),
    path("r/<str:token>/", views.result_page, name="result"),
    path("r/<str:token>/before.jpg", views.result_before, name="result-before"),
    path("r/<str:token>/after.jpg", views.result_screen, name="result-screen"),
    path("r/<str:token>/download", views.result_download, name="result-download"),
    path("api/demo/uploads/", apis.UploadCreateApi.as_view(), name="api-uploads"),
    path("api/demo/uploads/<str:token>/renders/", apis.RenderCreateApi.as_view(), name="api-renders"),
    path("api/demo/results/<str:token>/", apis.ResultDetailApi.as_view(), name="api-result"),
]
