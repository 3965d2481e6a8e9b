from django.db import models


class Note(models.Model):
    text = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-created_at", "-id")

    def __str__(self) -> str:
        return self.text


class Upload(models.Model):
    file = models.FileField(upload_to="uploads/%Y/%m/")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-created_at", "-id")

    def __str__(self) -> str:
        return self.file.name


class Digest(models.Model):
    """What the background job wrote: how many notes there were, and which release ran it."""

    task_id = models.CharField(max_length=64, unique=True)
    notes = models.PositiveIntegerField()
    release = models.CharField(max_length=200)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ("-finished_at", "-id")

    def __str__(self) -> str:
        return f"{self.notes} notes ({self.release})"
