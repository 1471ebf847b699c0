from django.urls import path

from webapp.participants import apis, views

app_name = "participants"

urlpatterns = [
    path("take-part/", views.round_list, name="rounds"),
    path("take-part/<slug:slug>/", views.consent, name="consent"),
    path("take-part/<slug:slug>/pick/", views.pick, name="pick"),
    path("take-part/<slug:slug>/preview/", views.preview, name="preview"),
    path("take-part/image/<str:token>/<str:size>", views.candidate_image, name="image"),
    path("api/rounds/<slug:slug>/join/", apis.JoinApi.as_view(), name="api-join"),
    path("api/rounds/<slug:slug>/me/", apis.StateApi.as_view(), name="api-state"),
    path("api/rounds/<slug:slug>/sets/current/", apis.CurrentSetApi.as_view(), name="api-current-set"),
    path("api/rounds/<slug:slug>/sets/<int:number>/submit/", apis.SubmitSetApi.as_view(), name="api-submit-set"),
    path("api/rounds/<slug:slug>/items/<str:token>/", apis.ItemApi.as_view(), name="api-item"),
    path("api/rounds/<slug:slug>/finish/", apis.FinishApi.as_view(), name="api-finish"),
    path("api/rounds/<slug:slug>/preview/", apis.PreviewApi.as_view(), name="api-preview"),
    path("api/rounds/<slug:slug>/labels.csv", apis.LabelMatrixApi.as_view(), name="api-labels"),
    path("api/candidates/", apis.CandidateRenderApi.as_view(), name="api-candidates"),
]
