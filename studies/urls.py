from django.contrib.auth import views as auth_views
from django.urls import path

from studies import apis, views

app_name = "studies"

urlpatterns = [
    path("study/<slug:slug>/", views.consent, name="consent"),
    path("study/<slug:slug>/pick/", views.pick, name="pick"),
    path("study/<slug:slug>/vote/", views.vote, name="vote"),
    path("study/<slug:slug>/done/", views.done, name="done"),
    path("study/image/<str:token>", views.option_image, name="image"),
    path("studies/login/", auth_views.LoginView.as_view(template_name="studies/login.html"), name="login"),
    path("studies/logout/", auth_views.LogoutView.as_view(next_page="studies:login"), name="logout"),
    path("studies/", views.dashboard, name="dashboard"),
    path("studies/new/", views.study_form, name="new"),
    path("studies/import/", views.study_import, name="import"),
    path("studies/<slug:slug>/", views.results, name="results"),
    path("studies/<slug:slug>/edit/", views.study_form, name="edit"),
    path("studies/<slug:slug>/action/", views.study_action, name="action"),
    path("api/studies/", apis.StudyListApi.as_view(), name="api-list"),
    path("api/studies/<slug:slug>/", apis.StudyDetailApi.as_view(), name="api-detail"),
    path("api/studies/<slug:slug>/open/", apis.StudyOpenApi.as_view(), name="api-open"),
    path("api/studies/<slug:slug>/prepare-pool/", apis.PreparePoolApi.as_view(), name="api-prepare-pool"),
    path("api/studies/<slug:slug>/tally/", apis.TallyApi.as_view(), name="api-tally"),
    path("api/studies/<slug:slug>/progress/", apis.ProgressApi.as_view(), name="api-progress"),
    path("api/studies/<slug:slug>/export/study.zip", apis.ArchiveApi.as_view(), name="api-archive"),
    path("api/studies/<slug:slug>/export/<str:name>.<str:extension>", apis.ExportApi.as_view(), name="api-export"),
    path("api/studies/<slug:slug>/me/", apis.StateApi.as_view(), name="api-state"),
    path("api/studies/<slug:slug>/current/", apis.CurrentTrialApi.as_view(), name="api-current"),
    path("api/studies/<slug:slug>/trials/<str:token>/vote/", apis.VoteApi.as_view(), name="api-vote"),
]
