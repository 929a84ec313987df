/* Hostile submission (c): tries to write outside its own folder and to
 * read other submissions. It leaves a file named ESCAPED in every folder
 * it can write to, from / down (7 levels), outside its scratch space
 * (/tmp inside the sandbox), and prints every file named SECRET it can read.
 * Inside the sandbox only /tmp is writable and no other submission, nor the
 * grader's files, can be seen: it prints "found nothing". */
#define _DEFAULT_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int found;

static void visit(const char *folder, int depth)
{
    char path[4096];
    DIR *dir;
    struct dirent *entry;

    if (strncmp(folder, "/tmp", 4) != 0) {
        snprintf(path, sizeof path, "%s/ESCAPED", strcmp(folder, "/") ? folder : "");
        int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
        if (fd != -1) {
            printf("wrote %s\n", path);
            found++;
            close(fd);
        }
    }
    if (depth == 0 || (dir = opendir(folder)) == NULL)
        return;
    while ((entry = readdir(dir)) != NULL) {
        const char *name = entry->d_name;
        /* (System folders skipped: a quicker search, and no student's files.) */
        if (!strcmp(name, ".") || !strcmp(name, "..") || !strcmp(name, "proc") ||
            !strcmp(name, "sys") || !strcmp(name, "dev") || !strcmp(name, "usr") ||
            !strcmp(name, "lib") || !strcmp(name, "etc") || !strcmp(name, "boot"))
            continue;
        snprintf(path, sizeof path, "%s/%s", strcmp(folder, "/") ? folder : "", name);
        if (entry->d_type == DT_DIR) {
            visit(path, depth - 1);
        } else if (!strcmp(name, "SECRET")) {
            char text[256] = "";
            FILE *file = fopen(path, "r");
            if (file != NULL) {
                if (fgets(text, sizeof text, file) == NULL)
                    text[0] = '\0';
                fclose(file);
                printf("read %s: %s\n", path, text);
                found++;
            }
        }
    }
    closedir(dir);
}

int main(void)
{
    visit("/", 7);
    if (!found)
        printf("found nothing\n");
    return 0;
}
