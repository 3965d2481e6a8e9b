from django.db import connection
from django.shortcuts import render


def index(request):
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user, current_database()")
        user, database = cursor.fetchone()
    return render(request, "shop/index.html", {"user": user, "database": database})
