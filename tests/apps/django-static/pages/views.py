from django.http import HttpResponse
from django.shortcuts import render


def index(request):
    return render(request, "pages/index.html", {"app_name": "django-static"})


def health(request):
    return HttpResponse("ok", content_type="text/plain")
